# Sources of the train area.
list(APPEND SDN_SOURCES)
