# Interop helpers: programs the e2e tests run beside the sdn binary
# (docs/interop.md). sdn_dump_exits writes every exit's logits of a network
# (a random one or a checkpoint's) as .npy, with the weights as `sdn export`
# writes them: what the Python package (python/sdn_torch) and `sdn import`
# are compared against.
add_executable(sdn_dump_exits ${CMAKE_CURRENT_LIST_DIR}/dump_exits.cpp)
target_link_libraries(sdn_dump_exits PRIVATE sdn_core sdn_analysis
  CLI11::CLI11)
target_precompile_headers(sdn_dump_exits REUSE_FROM sdn_core)
sdn_warnings(sdn_dump_exits)
