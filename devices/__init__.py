"""Device side: profiles (data in `profiles/`), ports and drivers for the glasses."""
