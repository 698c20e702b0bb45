"""Navigation: AMap online, the bundled offline map, places by name and progress along a route."""
