# Unit tests of src/sdn/pipeline/.
sdn_test_binary(sdn_unit_pipeline unit sdn_app
  ${CMAKE_CURRENT_LIST_DIR}/pipeline/aggregate_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pipeline/paper_test.cpp
)
