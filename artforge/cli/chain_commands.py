"""``artforge mint`` and ``artforge chain up|down|status|deploy``: optional tokens for registered works."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from artforge.cli.options import JsonOpt, PassphraseEnvOpt, QuietOpt, make_home
from artforge.cli.output import Outcome, command, echo, warn
from artforge.usecases.defaults import DEFAULT_PORT, DEFAULT_ROYALTY_BPS

# The use cases are imported inside each command: `artforge --help` and tab completion stay fast.
if TYPE_CHECKING:
    from artforge.usecases.chain_setup import ChainTarget

app = typer.Typer()  # `mint`, joined at the top level
chain_app = typer.Typer(name="chain", no_args_is_help=True,
                        help="The chains tokens go to: the local dev node (anvil) and contract deployments.")

ChainOpt = Annotated[Optional[str], typer.Option(
    "--chain", help="memory (in-process, gone when the command ends; the default) or local (artforge chain up).")]
RpcOpt = Annotated[Optional[str], typer.Option(
    "--rpc", metavar="URL", help="Any EVM chain's JSON-RPC URL (needs --key-env).")]
KeyEnvOpt = Annotated[Optional[str], typer.Option(
    "--key-env", metavar="VAR", help="Environment variable holding the hex private key that signs transactions.")]


def _target(chain: str | None, rpc: str | None, key_env: str | None) -> ChainTarget:
    from artforge.usecases.chain_setup import ChainTarget

    return ChainTarget.from_options(chain, rpc, key_env)


@command(app)
def mint(
    work: Annotated[str, typer.Argument(help="The registered image file, or a work id (then give --image).")],
    image: Annotated[Optional[Path], typer.Option("--image", help="The registered image, when WORK is an id.")] = None,
    to: Annotated[Optional[str], typer.Option("--to", metavar="ADDRESS",
                                              help="Token owner (default: the minting account).")] = None,
    royalty_bps: Annotated[int, typer.Option("--royalty-bps", help="ERC-2981 royalty in basis points (500 = 5%).")]
    = DEFAULT_ROYALTY_BPS,
    royalty_to: Annotated[Optional[str], typer.Option("--royalty-to", metavar="ADDRESS",
                                                      help="Royalty receiver (default: the minting account, "
                                                           "the artist's; not --to).")] = None,
    allow_noncommercial: Annotated[bool, typer.Option(
        "--allow-noncommercial-token", help="Mint even though the licence forbids commercial use.")] = False,
    contract: Annotated[Optional[str], typer.Option("--contract", metavar="ADDRESS",
                                                    help="A recorded deployment other than the newest.")] = None,
    chain: ChainOpt = None,
    rpc: RpcOpt = None,
    key_env: KeyEnvOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> Outcome:
    """Mint an ERC-721 token (ERC-2981 royalty) for a registered work; prints the token id.

    The token URI is ipfs://<CID of the metadata>; the metadata (written to the home's tokens/ folder)
    holds the licence, fingerprints and the signed provenance record.  Running it again returns the
    existing token; a run cut short after sending is reconciled from the chain, never minted twice.
    """
    from artforge.usecases.mint import MintRequest, mint_work

    request = MintRequest(reference=work, image=image, to=to, royalty_bps=royalty_bps, royalty_to=royalty_to,
                          contract=contract, allow_noncommercial=allow_noncommercial)
    result = mint_work(make_home(passphrase_env), request, _target(chain, rpc, key_env))
    if not quiet and not json_output:
        verb = "minted" if result.created else "already minted:"
        warn(f"{verb} token #{result.token.token_id} on {result.chain} (chain {result.token.chain_id}), "
             f"contract {result.token.contract}; metadata {result.metadata_path}")
        if not result.recorded:
            warn("in-process chain: this token is gone when the command ends, and the registry does not record "
                 "it; use --chain local or --rpc URL to keep one")

    def render(out: Console) -> None:
        echo(str(result.token.token_id))

    return Outcome(result.to_dict(), render)


@command(chain_app)
def up(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = DEFAULT_PORT,
    json_output: JsonOpt = False,
) -> Outcome:
    """Start the local dev chain (anvil on 127.0.0.1; state saved in the home, kept across restarts)."""
    from artforge.usecases.chain_setup import start_local_chain

    node, started = start_local_chain(make_home(), port)
    if not json_output:
        warn(f"local chain {'started' if started else 'already running'}: {node.url} (pid {node.pid}, "
             f"chain id {node.chain_id}); state in {node.state_file}")
    return Outcome({**node.to_dict(), "started": started}, lambda out: echo(node.url))


@command(chain_app)
def down(json_output: JsonOpt = False) -> Outcome:
    """Stop the local dev chain (its state is saved first)."""
    from artforge.usecases.chain_setup import stop_local_chain

    node = stop_local_chain(make_home())
    if not json_output:
        warn(f"local chain stopped (pid {node.pid})" if node else "local chain was not running")
    return Outcome({"stopped": node is not None, "pid": node.pid if node else None})


@command(chain_app)
def status(json_output: JsonOpt = False) -> Outcome:
    """Is the local dev chain running; its block height, contract and token count."""
    from artforge.usecases.chain_setup import local_chain_status

    state = local_chain_status(make_home())

    def render(out: Console) -> None:
        if not state.running:
            echo("local chain: not running (artforge chain up)")
            return
        node = state.node
        echo(f"local chain: running at {node.url} (pid {node.pid}), chain id {node.chain_id}, block {state.block}")
        for d in state.deployments:
            echo(f"contract: {d.address} (deployed in block {d.block})")
        echo(f"tokens: {state.tokens}")

    return Outcome(state.to_dict(), render)


@command(chain_app)
def deploy(
    chain: ChainOpt = "local",
    rpc: RpcOpt = None,
    key_env: KeyEnvOpt = None,
    new: Annotated[bool, typer.Option("--new", help="Deploy another contract even if one is recorded.")] = False,
    passphrase_env: PassphraseEnvOpt = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Deploy the artforge provenance contract and record its address (once per chain; prints the address)."""
    from artforge.usecases.chain_setup import deploy_contract

    deployment, created = deploy_contract(make_home(passphrase_env), _target(None if rpc else chain, rpc, key_env), new)
    if not json_output:
        verb = "deployed" if created else "already deployed"
        warn(f"{verb} on chain {deployment.chain_id} at {deployment.address} (block {deployment.block})")
        if deployment.network == "memory":
            warn("in-process chain: the contract is gone when the command ends and is not recorded")
    return Outcome({**deployment.to_dict(), "created": created}, lambda out: echo(deployment.address))
