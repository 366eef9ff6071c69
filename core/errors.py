"""The one base of the panel's application errors.

A leaf module with no imports of its own, so that every app (billing and providers too,
which otherwise never import `panel`) can raise a subclass. Views, `/api/v2` and commands
catch `PanelError` and show its `message`: a sentence meant for the customer or operator.
"""


class PanelError(Exception):
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None) -> None:
        # A lazily translated default becomes text now, in the language active where the error
        # is raised: the customer's on the website, English under /api/v2 (panel.api).
        self.message = str(message or self.default_message)
        super().__init__(self.message)
