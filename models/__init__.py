from . import urssaf_activity_category

# Before the registers' view, which reads their columns.
from . import account_account
from . import account_chart_template
from . import res_company
from . import res_config_settings
from . import urssaf_protected_mixin
from . import urssaf_environment_mixin
from . import urssaf_account
from . import res_partner
from . import product_template
from . import urssaf_mandate
from . import urssaf_sepa_mandate
from . import urssaf_declaration
from . import urssaf_declaration_run
from . import urssaf_declaration_contribution_move
from . import urssaf_declaration_line
from . import urssaf_declaration_contribution
from . import urssaf_declaration_preparation
from . import urssaf_turnover
from . import urssaf_run
from . import urssaf_yearly_summary
from . import account_bank_statement_line
from . import urssaf_register_line
from . import urssaf_cockpit
from . import urssaf_declaration_register_row
from . import urssaf_declaration_register
