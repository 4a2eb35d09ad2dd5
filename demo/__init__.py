from . import urssaf_demo
