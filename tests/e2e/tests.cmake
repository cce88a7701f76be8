# End-to-end tests: bash scripts run against the sdn binary. Script paths are
# relative to tests/ (sdn_e2e_script resolves them from tests/CMakeLists.txt).
sdn_e2e_script(e2e_data_info e2e/data_info.sh)
sdn_e2e_script(e2e_info e2e/info.sh)
sdn_e2e_script(e2e_report_numpy e2e/report_numpy.sh)
sdn_e2e_script(e2e_paper_quick e2e/paper_quick.sh)
sdn_e2e_script(e2e_exit_cli e2e/exit_cli.sh)
sdn_e2e_script(e2e_serve e2e/serve.sh)
sdn_e2e_script(e2e_explain_classes e2e/explain_classes.sh)
sdn_e2e_script(e2e_export e2e/export.sh)
sdn_e2e_script(e2e_image_folder e2e/image_folder.sh)
sdn_e2e_script(e2e_import e2e/import.sh)
sdn_e2e_script(e2e_worked_example e2e/worked_example.sh)
sdn_e2e_script(e2e_config e2e/config.sh)
sdn_e2e_script(e2e_kill_resume e2e/kill_resume.sh)
sdn_e2e_script(e2e_resource_limits e2e/resource_limits.sh)
sdn_e2e_script(e2e_write_failures e2e/write_failures.sh)
sdn_e2e_script(e2e_python_mirror e2e/python_mirror.sh
  $<TARGET_FILE:sdn_dump_exits>)
