"""``phasectl hook install|uninstall``: the pre-push hook that checks release tags."""

from __future__ import annotations

import click

from phasectl.context import AppContext

# phasectl.workflow.hooks.HOOK_TYPES, spelt out so that starting phasectl does not import the module
# (tests/test_hooks.py keeps the two equal).
HOOK_CHOICES = ("pre-push",)

_TYPE_OPTION = click.option(
    "--type",
    "hook_type",
    type=click.Choice(HOOK_CHOICES),
    default="pre-push",
    show_default=True,
    help="Which git hook.",
)


@click.group()
def hook() -> None:
    """Install or remove the git hook that runs 'phasectl check' before release tags are pushed.

    \b
    Examples:
      phasectl hook install
      phasectl hook uninstall
    """


@hook.command()
@_TYPE_OPTION
@click.option(
    "--chain",
    is_flag=True,
    help="Keep a hook another tool wrote: move it aside and run it before phasectl.",
)
@click.pass_obj
def install(app: AppContext, hook_type: str, chain: bool) -> None:
    """Install the hook: pushing a tag <tag_prefix>* or one matching release_tags runs
    'phasectl check' on it and stops the push if the check fails. Branches pass.

    Run it again after changing tag_prefix or release_tags: it replaces its own hook,
    but never a hook another tool wrote (see --chain).

    \b
    Examples:
      phasectl hook install             # .git/hooks/pre-push (or core.hooksPath)
      phasectl hook install --chain     # keep the hook another tool wrote, run it first
    """
    from phasectl.workflow.hooks import install_hook

    config = app.config
    done = install_hook(app.repository, config, hook_type, chain=chain)
    verb = "Replaced" if done.replaced else "Installed"
    tags = ", ".join((f"{config.tag_prefix}*", *config.release_tags))
    click.echo(
        f"{verb} the {hook_type} hook at {done.path}: pushing a tag {tags} runs phasectl check"
    )
    if done.chained is not None:
        click.echo(f"It runs the earlier hook first: {done.chained}")


@hook.command()
@_TYPE_OPTION
@click.pass_obj
def uninstall(app: AppContext, hook_type: str) -> None:
    """Remove phasectl's hook, putting back a hook it chained. Other tools' hooks stay.

    \b
    Example:
      phasectl hook uninstall
    """
    from phasectl.workflow.hooks import uninstall_hook

    done = uninstall_hook(app.repository, hook_type)
    if done.removed is not None:
        click.echo(f"Removed the {hook_type} hook {done.removed}")
    if done.restored is not None:
        click.echo(f"Restored the earlier hook {done.restored}")
    if done.removed is None and done.restored is None:
        click.echo(f"No phasectl {hook_type} hook is installed; nothing to remove", err=True)


@hook.command("check-push")
@click.pass_context
def check_push(ctx: click.Context) -> None:
    """For the pre-commit framework's pre-push stage: run 'phasectl check' on the phase or
    release tag being pushed; branches and other tags pass untouched, as with the git hook.

    \b
    Example:
      phasectl hook check-push   # pre-commit's phasectl-check hook runs this on push
    """
    import os

    from phasectl.commands.check import check
    from phasectl.workflow.hooks import pushed_release_tag

    app = ctx.ensure_object(AppContext)
    found = pushed_release_tag(app.config, os.environ)
    if found is None:
        ref = os.environ.get("PRE_COMMIT_REMOTE_BRANCH", "")
        click.echo(f"phasectl: {ref} is not a phase or release tag; nothing to check", err=True)
        return
    tag, head = found
    click.echo(f"phasectl hook: checking release tag {tag}", err=True)
    ctx.invoke(check, head=head)
