"""The demo shell's simple commands: each takes its arguments and returns the text it prints.

Output uses CR LF line ends (the terminal gets it raw, there is no tty layer) and plain ASCII,
except ``colors`` (SGR colours and DEC special graphics) and ``ls`` (coloured directories).
Commands that change the machine (clear, reboot, poweroff, flood, exit) live in ``shell.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from amtterm.sim.synthetic.settings import TABS
from amtterm.sim.synthetic.stage import Context

#: Command -> one-line description, for ``help``.
HELP: Final = {
    "help": "this list",
    "uname [-a|-snrm]": "system information",
    "date": "the date and time from the PC's clock",
    "uptime": "time since power on",
    "ls, cat FILE": "list and show the files in the home directory",
    "echo TEXT": "print TEXT",
    "whoami, hostname, pwd": "who, where",
    "colors": "a 16-colour and DEC line drawing test card",
    "flood N": "N bytes of busy ANSI output, then FLOOD-END N SHA256",
    "clear": "clear the screen",
    "reboot": "restart the PC (back to POST)",
    "poweroff": "shut down and switch off",
    "exit, logout": "back to the login prompt",
}

_NOTES: Final = (
    "This PC does not exist: it is the synthetic host of amtterm's AMT simulator.",
    "Things to try:",
    "  - reboot, then press F2 (setup) or F12 (boot menu) while POST shows",
    "  - in setup, change the boot order and save with F10",
    "  - colors, to check CP437 and DEC line drawing in your terminal",
    "  - flood 1000000, to measure Serial-over-LAN throughput",
)


def crlf(lines: list[str] | tuple[str, ...]) -> bytes:
    """Lines joined with CR LF, each ending in CR LF."""
    return "".join(line + "\r\n" for line in lines).encode("ascii", "replace")


def help_text(ctx: Context, args: list[str], now: float) -> bytes:
    """``help``."""
    width = max(len(name) for name in HELP) + 2
    return crlf(["Commands:", *(f"  {name.ljust(width)}{text}" for name, text in HELP.items())])


def uname(ctx: Context, args: list[str], now: float) -> bytes:
    """``uname`` with the usual flags (``-a``, or any of ``-snrvm``, also combined)."""
    parts = {
        "s": "Linux",
        "n": ctx.hardware.hostname,
        "r": ctx.hardware.kernel,
        "v": "#1 SMP Demo (2024-05-03)",
        "m": "x86_64",
    }
    flags: set[str] = set()
    for arg in args:
        if arg == "--all":
            flags.add("a")
        elif arg.startswith("-") and len(arg) > 1:
            flags.update(arg[1:])
        else:
            return crlf([f"uname: extra operand '{arg}'"])
    unknown = sorted(flags - set(parts) - {"a"})
    if unknown:
        return crlf([f"uname: invalid option -- '{unknown[0]}'"])
    if "a" in flags:
        return crlf([" ".join([*parts.values(), "GNU/Linux"])])
    chosen = [text for flag, text in parts.items() if flag in flags] or [parts["s"]]
    return crlf([" ".join(chosen)])


def date(ctx: Context, args: list[str], now: float) -> bytes:
    """``date``: the PC's clock (the simulator's time plus the date set in setup)."""
    moment = ctx.clock(now)
    return crlf([f"{moment:%a %b} {moment.day:2d} {moment:%H:%M:%S} UTC {moment.year}"])


def uptime(ctx: Context, args: list[str], now: float) -> bytes:
    """``uptime``."""
    moment = ctx.clock(now)
    minutes = int(now - ctx.booted_at) // 60
    up = f"{minutes} min" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}"
    return crlf([f" {moment:%H:%M:%S} up {up},  1 user,  load average: 0.00, 0.00, 0.00"])


def ls(ctx: Context, args: list[str], now: float) -> bytes:
    """``ls``: two directories and two files."""
    blue = "\x1b[1;34m{}\x1b[0m"
    names = [blue.format("Documents"), blue.format("Downloads"), "bios-settings.txt", "notes.txt"]
    return crlf(["  ".join(names)])


def cat(ctx: Context, args: list[str], now: float) -> bytes:
    """``cat FILE``: the notes, or the saved BIOS settings."""
    if not args:
        return b""
    out: list[str] = []
    for name in args:
        if name == "notes.txt":
            out += _NOTES
        elif name == "bios-settings.txt":
            out += _settings_dump(ctx)
        elif name in ("Documents", "Downloads"):
            out.append(f"cat: {name}: Is a directory")
        else:
            out.append(f"cat: {name}: No such file or directory")
    return crlf(out)


def _settings_dump(ctx: Context) -> list[str]:
    settings = ctx.settings
    lines = [f"[{ctx.vendor} BIOS {ctx.hardware.bios_version}, saved settings]"]
    for tab, items in TABS:
        for item in items:
            if item.kind == "choice":
                lines.append(f"{tab}/{item.label} = {settings.values[item.key]}")
    for n, device in enumerate(settings.boot_order, 1):
        lines.append(f"Boot/Boot Option #{n} = {ctx.hardware.device_label(device)}")
    return lines


def echo(ctx: Context, args: list[str], now: float) -> bytes:
    """``echo``."""
    return crlf([" ".join(args)])


def colors(ctx: Context, args: list[str], now: float) -> bytes:
    """``colors``: every foreground on every background, normal and bold, then DEC graphics."""
    out = ["SGR 30-37 foreground (normal and bold 1;) on 40-47 background:"]
    out.append("        " + "".join(f" 4{bg}m " for bg in range(8)))
    for fg in range(8):
        for bold in ("", "1;"):
            cells = "".join(f"\x1b[0;{bold}3{fg};4{bg}m gYw \x1b[0m" for bg in range(8))
            out.append(f"{bold}3{fg}m".rjust(6) + "  " + cells)
    out.append("")
    out.append("DEC special graphics (ESC ( 0 ... ESC ( B):")
    frame = ("lqqqqqqwqqqqqqk", "x      x      x", "tqqqqqqnqqqqqqu", "x      x      x", "mqqqqqqvqqqqqqj")
    for line in frame:
        out.append("  \x1b(0" + line + "\x1b(B")
    out.append("  \x1b(0`afgjklmnopqrstuvwxyz{|}~\x1b(B  (diamond, checker, degree ... pi, pound)")
    return crlf(out)


def hostname(ctx: Context, args: list[str], now: float) -> bytes:
    """``hostname``."""
    return crlf([ctx.hardware.hostname])


Command = Callable[[Context, list[str], float], bytes]

#: The plain commands by name.
COMMANDS: Final[dict[str, Command]] = {
    "help": help_text,
    "uname": uname,
    "date": date,
    "uptime": uptime,
    "ls": ls,
    "dir": ls,
    "cat": cat,
    "echo": echo,
    "colors": colors,
    "colours": colors,
    "hostname": hostname,
}
