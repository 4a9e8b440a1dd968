"""Exceptions raised by attnflow (the command line's exit codes 2, 3 and 4 as Python classes).

    Error            base class of everything below (exit_code 1)
    ConfigError      invalid scenario, option or input file (a ValueError; exit code 2);
                     carries .file, .line, .column and .message
    NumericalError   NaN/Inf or step-size underflow, naming step, time and token
                     (an ArithmeticError; exit code 3)
    OutputError      a file cannot be read or written (an OSError; exit code 4)

Ctrl-C during a run raises the built-in KeyboardInterrupt (exit code 130 on the command line).
"""

import re

__all__ = ["Error", "ConfigError", "NumericalError", "OutputError"]

# "file:line:col: message" (a scenario file or text), "--set key=value: message" (an override).
_LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$", re.S)
_OVERRIDE = re.compile(r"^--set (?P<key>[^=\s]+)=(?P<value>.*?): (?P<msg>.*)$", re.S)
_FILE = re.compile(r"^(?P<file>[^:\n]+\.(?:toml|h5|csv|npy|hdf5)): (?P<msg>.*)$", re.S)
_MAX_VALUE = 60


class Error(Exception):
    """Base class of attnflow's errors."""

    exit_code = 1


class ConfigError(Error, ValueError):
    """An invalid scenario, option or input file.

    Attributes:
        file:     the scenario file (or the name given to load() for TOML text) where the
                  problem is, else None (for a keyword override, see .override)
        line, column: 1-based position of the offending value in that file, else None
        message:  the message without its location
        override: "key=value" when the problem is in a keyword override of load()/run()
    """

    exit_code = 2

    def __init__(self, text):
        self.file = self.line = self.column = self.override = None
        self.message = text
        m = _LOCATED.match(text)
        if m:
            self.file, self.message = m["file"], m["msg"]
            self.line, self.column = int(m["line"]), int(m["col"])
        else:
            m = _OVERRIDE.match(text)
            if m:
                value = m["value"]
                if len(value) > _MAX_VALUE:
                    value = value[:_MAX_VALUE] + "..."
                self.override = f"{m['key']}={value}"
                self.message = m["msg"]
                text = f"override {self.override}: {self.message}"
            else:
                m = _FILE.match(text)
                if m:
                    self.file, self.message = m["file"], m["msg"]
        super().__init__(text)


class NumericalError(Error, ArithmeticError):
    """A numerical failure: NaN/Inf in the state or an observable, or step-size underflow."""

    exit_code = 3


class OutputError(Error, OSError):
    """A file cannot be read or written (the command line's exit code 4)."""

    exit_code = 4

    def __init__(self, text):
        OSError.__init__(self, text)

    def __str__(self):
        return self.args[0] if self.args else ""
