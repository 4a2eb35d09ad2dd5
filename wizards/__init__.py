from . import urssaf_declaration_prepare
