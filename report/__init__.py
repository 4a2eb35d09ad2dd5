from . import urssaf_register_report
