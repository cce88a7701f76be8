# Sources of the data area.
list(APPEND SDN_SOURCES)
