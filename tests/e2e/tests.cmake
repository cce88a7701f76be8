# End-to-end scripts: each runs the sdn binary.
sdn_e2e_script(e2e_data_info e2e/data_info.sh)
