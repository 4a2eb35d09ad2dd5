from . import urssaf_yearly_summary_report
