from . import test_settings
from . import test_declaration
from . import test_turnover
from . import test_gross_receipts
from . import test_pos_takings
from . import test_partner_mandates
from . import test_urssaf_access
from . import test_translations
from . import test_robustness
from . import test_tours
from . import test_bad_input
from . import test_prepare_wizard
from . import test_declaration_trust
from . import test_error_messages
from . import test_lazy_sandbox
from . import test_environment
from . import test_settings_rpc_trust
from . import test_urssaf_account
from . import test_install_uninstall
from . import test_cron_runner
from . import test_sandbox_storage
from . import test_yearly_summary
from . import test_contribution_books
from . import test_acre
from . import test_books_rpc_trust
from . import test_register
from . import test_zero_period
from . import test_migrations
from . import test_vat_thresholds
from . import test_harness
from . import test_parallel_runs
from . import test_demo
from . import test_cockpit
from . import test_declaration_grouping
from . import test_send_confirmation
from . import test_queue_workers
from . import test_declaration_register
from . import test_register_rpc_trust
from . import test_onboarding
from . import test_onboarding_jobs
from . import test_drill_down
from . import test_debit_rejected
from . import test_portal_mandate_signature
from . import test_portal

# pytest only: an ERROR logged during a test fails it, as under Odoo's runner
# (see pytest_error_logs; Odoo's runner ignores this name).
pytest_plugins = [f"{__name__}.pytest_error_logs"]
