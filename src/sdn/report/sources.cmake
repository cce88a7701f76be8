# Sources of the report area.
list(APPEND SDN_SOURCES)
