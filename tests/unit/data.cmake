# Unit tests of src/sdn/data/.
sdn_test_binary(sdn_unit_data unit sdn_core
  ${CMAKE_CURRENT_LIST_DIR}/data/cifar_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data/class_names_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data/dataset_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data/grid_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data/idx_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data/image_decode_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data/image_folder_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data/loader_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data/rng_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data/stats_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data/synthetic_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data/tiny_imagenet_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data/transforms_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data/trigger_test.cpp
)
# The tests write gzip, JPEG and PNG files in the real formats themselves.
target_link_libraries(sdn_unit_data PRIVATE ZLIB::ZLIB JPEG::JPEG PNG::PNG)
