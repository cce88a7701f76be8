sdn_test_binary(sdn_integration integration sdn_app
  ${CMAKE_CURRENT_LIST_DIR}/early_exit_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/distributed_test.cpp
  # The training half beside the early-exit and data-parallel half: under
  # the sanitizers the binary alone took 17 minutes on one core.
  SPLIT training "TrainModes.*:Train.*"
)
# The whole command line, parsed in process (tools/sdn as a library).
sdn_test_binary(sdn_integration_cli integration sdn_commands
  ${CMAKE_CURRENT_LIST_DIR}/cli_options_test.cpp
)
