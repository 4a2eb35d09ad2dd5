from . import urssaf_yearly_summary_report
from . import urssaf_register_report
