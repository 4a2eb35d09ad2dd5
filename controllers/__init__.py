from . import portal_mandate
