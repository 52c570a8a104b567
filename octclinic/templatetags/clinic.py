from django import template

register = template.Library()


@register.filter
def staff_name(user, default: str = "–") -> str:
    """A staff member as people call them: full name, else username; a dash for nobody."""
    if user is None:
        return default
    return user.get_full_name() or user.username
