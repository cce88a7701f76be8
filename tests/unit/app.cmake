# Unit tests of src/sdn/app/.
sdn_test_binary(sdn_unit_app unit sdn_app
  ${CMAKE_CURRENT_LIST_DIR}/app/config_file_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/app/explain_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/app/image_grids_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/app/launcher_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/app/serve_bench_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/app/train_console_test.cpp
)
