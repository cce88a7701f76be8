# Sources of the inference area.
list(APPEND SDN_SOURCES)
