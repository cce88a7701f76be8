# Sources of the models area.
list(APPEND SDN_SOURCES)
