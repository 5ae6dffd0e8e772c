"""The API's routes, one module and one ``APIRouter`` per resource; ``api.app`` composes them."""
