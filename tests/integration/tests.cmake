sdn_test_binary(sdn_integration integration sdn_app
  ${CMAKE_CURRENT_LIST_DIR}/early_exit_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/distributed_test.cpp
)
# The whole command line, parsed in process (tools/sdn as a library).
sdn_test_binary(sdn_integration_cli integration sdn_commands
  ${CMAKE_CURRENT_LIST_DIR}/cli_options_test.cpp
)
