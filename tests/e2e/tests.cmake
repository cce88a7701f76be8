# End-to-end tests: bash scripts run against the built `sdn` binary.
sdn_e2e_script(report_numpy e2e/report_numpy.sh)
