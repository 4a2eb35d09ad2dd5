from . import urssaf_activity_category
from . import res_company
from . import res_config_settings
from . import res_partner
from . import product_template
from . import urssaf_mandate
from . import urssaf_sepa_mandate
