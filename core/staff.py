"""Every staff power names the permission it needs, in one of two ways, so a new one cannot go without.

- An admin action declares `@admin.action(permissions=[...])`: Django offers it only to a user for whom a
  `has_<name>_permission(request)` of its ModelAdmin answers True, and refuses it when it is posted anyway.
  Django is satisfied by ANY one of the names, so an action that needs two powers names one method checking both.
- A custom admin view (`get_urls`) is built with `admin_permission_view`, a staff page outside the admin is
  decorated with `staff_permission_required`: a signed-in staff member without every listed permission gets 403.
  Both record the permissions on the view as `required_permissions`.

tests/panel/test_admin_permissions.py walks every registered ModelAdmin's actions and URLs (and the staff pages
under the admin's prefix) and fails for any that declares no permission.
"""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied


def staff_permission_required(*permissions: str) -> Callable:
    """403 unless the user holds every one of `permissions` ("app_label.codename")."""
    if not permissions:
        raise ValueError("A staff view must name at least one permission.")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.has_perms(permissions):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        guarded.required_permissions = permissions
        return guarded

    return decorator


def admin_permission_view(model_admin, view: Callable, *permissions: str) -> Callable:
    """A custom admin view: the admin's sign-in and staff check first (redirect to login), then the permissions."""
    return model_admin.admin_site.admin_view(staff_permission_required(*permissions)(view))
