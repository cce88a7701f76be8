# Unit tests of src/sdn/serve/.
sdn_test_binary(sdn_unit_serve unit sdn_serve
  ${CMAKE_CURRENT_LIST_DIR}/serve/engine_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/serve/load_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/serve/metrics_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/serve/request_body_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/serve/server_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/serve/staged_network_test.cpp
)
# server_test.cpp is an HTTP client (cpp-httplib).
target_link_libraries(sdn_unit_serve PRIVATE PkgConfig::HTTPLIB)
