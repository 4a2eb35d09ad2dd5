from . import test_settings
from . import test_declaration
from . import test_turnover
from . import test_partner_mandates
from . import test_urssaf_access
from . import test_translations
