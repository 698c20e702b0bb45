"""The flow language: what a flow file means (reader, source map, schema, model, builder, expressions)."""
