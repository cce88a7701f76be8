# Sources of the heads area.
list(APPEND SDN_SOURCES)
