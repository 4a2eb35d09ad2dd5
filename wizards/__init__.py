from . import urssaf_declaration_prepare
from . import urssaf_declaration_prepare_skip
from . import urssaf_declaration_send
from . import urssaf_environment_change
from . import urssaf_yearly_summary_send
