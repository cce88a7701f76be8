# Sources of the analysis area.
list(APPEND SDN_SOURCES)
