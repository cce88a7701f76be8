# Sources of the network area.
list(APPEND SDN_SOURCES)
