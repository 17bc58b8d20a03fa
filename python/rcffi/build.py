"""API mode: compiling a generated C file into an extension module.

The module is an ordinary shared object (``cc -shared -fPIC``), built
from the generated file and the ``sources=`` of the setuptools
``Extension`` keywords, with no Python headers (unless the user's code
includes ``Python.h``): one build works with every CPython.

Rebuilds are exact.  Next to the output, a *stamp* (JSON) records a hash
of everything that went into the build: the generated C, every file in
``sources=``/``depends=``/``extra_objects=``, every header the compiler
actually read (from ``-MD -MF`` dependency files), the compile and link
command lines, the compiler (resolved path and ``--version``) and rcffi's
version.  A build is skipped only when all of that is unchanged; checking
it starts no process (the compiler's version is remembered together with
the identity of its executable).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Any

from . import VerificationWarning
from ._rcffi import VerificationError

STAMP_FORMAT = 1

#: The keywords of ``setuptools.Extension`` (and of cffi's ``set_source``).
_LIST_KEYWORDS = (
    "sources",
    "include_dirs",
    "define_macros",
    "undef_macros",
    "library_dirs",
    "libraries",
    "runtime_library_dirs",
    "extra_objects",
    "extra_compile_args",
    "extra_link_args",
    "export_symbols",
    "swig_opts",
    "depends",
)
_OTHER_KEYWORDS = ("language", "optional", "py_limited_api")

_CXX_SUFFIXES = (".cpp", ".cc", ".cxx", ".c++", ".C")
#: Keywords whose string value is command-line words (split as a shell
#: does); a string for another list keyword is its one item.
_WORD_KEYWORDS = ("extra_compile_args", "extra_link_args")


@dataclass
class Region:
    """Lines of the generated file that belong to one declaration."""

    first: int
    last: int
    what: str
    origin: str
    hint: str | None = None


@dataclass
class Generated:
    """A generated C file, with what the error messages need."""

    c_source: str
    #: The line ranges of each declaration's checks and glue.
    regions: list[Region] = field(default_factory=list)
    #: The file name the compiler gives the user's set_source() code.
    user_file: str = ""
    #: The first line of rcffi's code after the user's.
    glue_line: int = 1

    def region_at(self, line: int) -> Region | None:
        """The declaration whose generated code holds ``line``."""
        for r in self.regions:
            if r.first <= line <= r.last:
                return r
        return None


@dataclass
class Options:
    """The setuptools ``Extension`` keywords of one module, normalised."""

    sources: list[str] = field(default_factory=list)
    include_dirs: list[str] = field(default_factory=list)
    define_macros: list[tuple[str, str | None]] = field(default_factory=list)
    undef_macros: list[str] = field(default_factory=list)
    library_dirs: list[str] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)
    runtime_library_dirs: list[str] = field(default_factory=list)
    extra_objects: list[str] = field(default_factory=list)
    extra_compile_args: list[str] = field(default_factory=list)
    extra_link_args: list[str] = field(default_factory=list)
    depends: list[str] = field(default_factory=list)
    language: str | None = None

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any], where: str = "set_source()") -> Options:
        """Checks and normalises ``Extension`` keywords; unknown ones are a
        TypeError naming them.  As cffi and setuptools take them, a string
        stands for a list: of its command-line words for
        ``extra_compile_args``/``extra_link_args``, else of itself."""
        opts = cls()
        for key, value in kwargs.items():
            if key in _LIST_KEYWORDS:
                if value is None:
                    continue
                if isinstance(value, bytes):
                    value = os.fsdecode(value)
                if isinstance(value, str):
                    value = shlex.split(value) if key in _WORD_KEYWORDS else [value]
                elif isinstance(value, os.PathLike):
                    value = [value]
                try:
                    items = list(value)
                except TypeError:
                    raise TypeError(
                        f"{where}: '{key}' must be a list (or a string), not {type(value).__name__}"
                    ) from None
                if key == "define_macros":
                    macros = []
                    for m in items:
                        if not (isinstance(m, tuple) and len(m) in (1, 2)):
                            raise TypeError(
                                f"{where}: define_macros items must be (name, value) tuples"
                            )
                        macros.append((str(m[0]), None if len(m) == 1 else m[1]))
                    opts.define_macros = macros
                elif key in ("export_symbols", "swig_opts"):
                    continue
                elif key == "sources":
                    # 'dir/../x.c' must work even when 'dir' does not exist.
                    opts.sources = [os.path.normpath(os.fsdecode(x)) for x in items]
                else:
                    setattr(opts, key, [os.fsdecode(os.fspath(x)) for x in items])
            elif key in _OTHER_KEYWORDS:
                if key == "language":
                    opts.language = value
            else:
                raise TypeError(
                    f"{where}: unexpected keyword argument {key!r} (rcffi accepts the "
                    f"setuptools Extension keywords: "
                    f"{', '.join(_LIST_KEYWORDS + _OTHER_KEYWORDS)})"
                )
        return opts

    def includes_python_h(self, source: str) -> bool:
        """Whether the set_source() code or a file of ``sources=`` includes
        ``Python.h`` (then the module is built against this CPython)."""
        if _PYTHON_H.search(source):
            return True
        for path in self.sources:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    if _PYTHON_H.search(f.read()):
                        return True
            except OSError:
                pass
        return False

    def key_data(self) -> dict[str, Any]:
        """What of the options goes into the build key."""
        return {
            k: getattr(self, k)
            for k in (
                "sources",
                "include_dirs",
                "define_macros",
                "undef_macros",
                "library_dirs",
                "libraries",
                "runtime_library_dirs",
                "extra_objects",
                "extra_compile_args",
                "extra_link_args",
                "depends",
                "language",
            )
        }


_PYTHON_H = re.compile(r'^\s*#\s*include\s*[<"]Python\.h[>"]', re.MULTILINE)


def extension_suffix(python_h: bool) -> str:
    """The file suffix of a module: ``.abi3.so`` (every CPython imports
    it), or this CPython's own suffix when the user's C code uses
    ``Python.h``."""
    if python_h:
        return sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return ".abi3.so"


def python_include_dir() -> str:
    """CPython's headers (for code that includes ``Python.h``)."""
    return sysconfig.get_paths()["include"]


# -- the compiler ---------------------------------------------------------------


@dataclass
class Compiler:
    """A compiler driver: its command words and its identity."""

    argv: list[str]
    path: str
    stat: list[int]
    version: str | None = None

    def identity(self) -> dict[str, Any]:
        return {"argv": self.argv, "path": self.path, "version": self.version}


def _stat_identity(path: str) -> list[int]:
    st = os.stat(path)
    return [st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev]


def find_compiler(cplusplus: bool) -> Compiler:
    """The C (or C++) compiler: ``$CC`` (``$CXX``) if set, else the first of
    ``cc``, ``gcc``, ``clang`` (``c++``, ``g++``, ``clang++``) on PATH."""
    var = "CXX" if cplusplus else "CC"
    env = os.environ.get(var, "").strip()
    candidates = [shlex.split(env)] if env else []
    if not env:
        names = ("c++", "g++", "clang++") if cplusplus else ("cc", "gcc", "clang")
        candidates = [[n] for n in names]
    for argv in candidates:
        found = shutil.which(argv[0])
        if found:
            real = os.path.realpath(found)
            return Compiler(argv=[found, *argv[1:]], path=real, stat=_stat_identity(real))
    what = "C++" if cplusplus else "C"
    looked = f"${var} ({env!r})" if env else ", ".join(c[0] for c in candidates)
    raise VerificationError(
        f"no {what} compiler found (looked for {looked} on PATH).  API mode needs one: "
        f"install it (e.g. 'apt-get install {'g++' if cplusplus else 'gcc'}' or "
        f"'xcode-select --install'), or set ${var} to the compiler to use."
    )


def _compiler_version(comp: Compiler, cached: dict[str, Any] | None) -> str:
    """``--version`` of the compiler, remembered in the stamp as long as the
    executable is the same file."""
    if (
        cached
        and cached.get("path") == comp.path
        and cached.get("stat") == comp.stat
        and cached.get("argv") == comp.argv
    ):
        return cached["version"]
    try:
        out = subprocess.run(
            [*comp.argv, "--version"], capture_output=True, text=True, errors="replace"
        )
    except OSError as e:
        raise VerificationError(f"cannot run the compiler {comp.argv[0]!r}: {e}") from None
    return (out.stdout or out.stderr).strip()


# -- hashing -----------------------------------------------------------------------


def _hash_file(path: str) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def _hash_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _env_flags(name: str) -> list[str]:
    return shlex.split(os.environ.get(name, ""))


def parse_depfile(text: str) -> list[str]:
    """The prerequisites of a make rule written by ``cc -MD -MF``."""
    text = text.replace("\\\r\n", " ").replace("\\\n", " ")
    deps: list[str] = []
    for rule in text.splitlines():
        # The target ends at the first ': ' (a colon followed by a space).
        m = re.search(r":(\s|$)", rule)
        if not m:
            continue
        body = rule[m.end() :]
        token = []
        i = 0
        while i < len(body):
            c = body[i]
            if c == "\\" and i + 1 < len(body) and body[i + 1] in " #\\":
                token.append(body[i + 1])
                i += 2
                continue
            if c == "$" and i + 1 < len(body) and body[i + 1] == "$":
                token.append("$")
                i += 2
                continue
            if c.isspace():
                if token:
                    deps.append("".join(token))
                    token = []
            else:
                token.append(c)
            i += 1
        if token:
            deps.append("".join(token))
    return deps


# -- one build ------------------------------------------------------------------------


@dataclass
class BuildRequest:
    """Everything one build needs."""

    module_name: str
    #: The generated source; ``None`` to check an earlier build from the
    #: hash of its source (``c_hash``) without generating it again.
    generated: Generated | None
    c_path: str
    #: The shared library to produce; with ``unique_output`` the build key
    #: is inserted before the suffix so that every build has its own file.
    output: str
    stamp_path: str
    options: Options
    cplusplus: bool = False
    verbose: bool = False
    debug: bool = False
    unique_output: bool = False
    c_hash: str | None = None
    #: Recorded in the stamp: what the caller needs to reuse a build
    #: without generating its source again (see ``stamp_extra``).
    extra: dict[str, Any] | None = None
    #: The user's code includes ``Python.h``: CPython's headers are added.
    python_h: bool = False

    def source_hash(self) -> str:
        """The hash of the generated source."""
        if self.c_hash is None:
            assert self.generated is not None
            self.c_hash = _hash_text(self.generated.c_source)
        return self.c_hash


def _base_flags(debug: bool) -> list[str]:
    if debug:
        return ["-O0", "-g", "-fPIC", "-pthread"]
    return ["-O2", "-fPIC", "-fwrapv", "-pthread", "-DNDEBUG"]


def _compile_words(req: BuildRequest) -> list[str]:
    o = req.options
    words = [*_base_flags(req.debug), *_env_flags("CPPFLAGS"), *_env_flags("CFLAGS")]
    words += [f"-I{d}" for d in o.include_dirs]
    if req.python_h:
        words.append(f"-I{python_include_dir()}")
    for name, value in o.define_macros:
        words.append(f"-D{name}" if value is None else f"-D{name}={value}")
    words += [f"-U{name}" for name in o.undef_macros]
    words += o.extra_compile_args
    return words


def _link_words(req: BuildRequest) -> list[str]:
    o = req.options
    words = ["-shared", "-pthread", *_env_flags("LDFLAGS")]
    words += [f"-L{d}" for d in o.library_dirs]
    words += [f"-Wl,-rpath,{d}" for d in o.runtime_library_dirs]
    words += [f"-l{lib}" for lib in o.libraries]
    words += o.extra_link_args
    return words


def _is_cxx(path: str, req: BuildRequest) -> bool:
    return path.endswith(_CXX_SUFFIXES) or (path == req.c_path and req.cplusplus)


def _inputs(req: BuildRequest, compilers: dict[str, Compiler]) -> dict[str, Any]:
    """What goes into the build key, except the headers read."""
    o = req.options
    files = {}
    for p in [*o.sources, *o.depends, *o.extra_objects]:
        files[os.path.abspath(p)] = _hash_file(p)
    return {
        "rcffi": _rcffi_version(),
        "format": STAMP_FORMAT,
        "c_source": req.source_hash(),
        "c_path": os.path.abspath(req.c_path),
        "options": o.key_data(),
        "compile": _compile_words(req),
        "link": _link_words(req),
        "files": files,
        "compilers": {k: c.identity() for k, c in sorted(compilers.items())},
        "platform": sys.platform,
    }


_TOOL_ID: str | None = None


def tool_id() -> str:
    """rcffi's version and the hash of its code generator and driver."""
    return _rcffi_version()


def _rcffi_version() -> str:
    """rcffi's version, and a hash of the code that generates and builds
    modules (so that a development copy of rcffi rebuilds when it changes)."""
    global _TOOL_ID
    if _TOOL_ID is None:
        from . import __version__

        h = hashlib.sha256(__version__.encode())
        here = os.path.dirname(os.path.abspath(__file__))
        for name in ("build.py", "_builder.py", "_rcffi.abi3.so"):
            h.update(
                _hash_file(os.path.join(here, name)).encode()
                if os.path.exists(os.path.join(here, name))
                else b"-"
            )
        _TOOL_ID = f"{__version__}+{h.hexdigest()[:16]}"
    return _TOOL_ID


def _key(inputs: dict[str, Any], deps: dict[str, str | None]) -> str:
    blob = json.dumps([inputs, sorted(deps.items())], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def read_stamp(path: str) -> dict[str, Any] | None:
    """The stamp at ``path``, or ``None``."""
    return _read_stamp(path)


def _read_stamp(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("format") != STAMP_FORMAT:
        return None
    return stamp


def _compilers(req: BuildRequest, stamp: dict[str, Any] | None) -> dict[str, Compiler]:
    needed = {"c++" if req.cplusplus else "c"}
    for s in req.options.sources:
        needed.add("c++" if s.endswith(_CXX_SUFFIXES) else "c")
    cached = (stamp or {}).get("compiler_cache", {})
    out = {}
    for kind in sorted(needed):
        comp = find_compiler(kind == "c++")
        comp.version = _compiler_version(comp, cached.get(kind))
        out[kind] = comp
    return out


def fresh_output(req: BuildRequest) -> str | None:
    """The output of the last build if nothing that went into it changed;
    starts no process."""
    stamp = _read_stamp(req.stamp_path)
    if stamp is None:
        return None
    output = stamp.get("output")
    if not output or not os.path.exists(output):
        return None
    if not req.unique_output and os.path.abspath(req.output) != output:
        return None
    try:
        compilers = _compilers(req, stamp)
    except VerificationError:
        return None
    inputs = _inputs(req, compilers)
    deps = {p: _hash_file(p) for p in stamp.get("deps", {})}
    if _key(inputs, deps) != stamp.get("key"):
        return None
    return output


def build(req: BuildRequest) -> tuple[str, bool]:
    """Builds the library of ``req`` unless an exact earlier build exists.
    Returns ``(path of the library, whether it was rebuilt)``."""
    assert req.generated is not None
    fresh = fresh_output(req)
    c_text = req.generated.c_source
    write_if_changed(req.c_path, c_text, req.module_name)
    if fresh is not None:
        if req.verbose:
            print(f"rcffi: {req.module_name} is up to date ({fresh})")
        stamp = _read_stamp(req.stamp_path)
        if stamp is not None and stamp.get("extra") != req.extra:
            stamp["extra"] = req.extra
            _write_atomic(req.stamp_path, json.dumps(stamp, indent=1), req.module_name)
        return fresh, False
    stamp = _read_stamp(req.stamp_path)
    compilers = _compilers(req, stamp)
    inputs = _inputs(req, compilers)
    outdir = os.path.dirname(os.path.abspath(req.output))
    _makedirs(outdir, req.module_name)
    workdir = _mkdtemp(outdir, req.module_name)
    try:
        objects, deps = _compile_all(req, compilers, workdir)
        key = _key(inputs, deps)
        output = os.path.abspath(req.output)
        if req.unique_output:
            stem, ext = os.path.splitext(output)
            output = f"{stem}-{key[:16]}{ext}"
        tmp_out = os.path.join(workdir, "out" + os.path.splitext(output)[1])
        linker = compilers.get("c++") if "c++" in compilers else compilers["c"]
        cmd = [*linker.argv, *objects, *req.options.extra_objects, *_link_words(req)]
        cmd += ["-o", tmp_out]
        _run(cmd, req, "linking")
        os.replace(tmp_out, output)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    stamp = {
        "format": STAMP_FORMAT,
        "module": req.module_name,
        "output": output,
        "key": key,
        "deps": deps,
        "compiler_cache": {
            kind: {"argv": c.argv, "path": c.path, "stat": c.stat, "version": c.version}
            for kind, c in compilers.items()
        },
        "extra": req.extra,
    }
    _write_atomic(req.stamp_path, json.dumps(stamp, indent=1, sort_keys=True), req.module_name)
    if req.unique_output:
        _remove_older_outputs(output)
    return output, True


def _compile_all(
    req: BuildRequest, compilers: dict[str, Compiler], workdir: str
) -> tuple[list[str], dict[str, str | None]]:
    objects = []
    deps: dict[str, str | None] = {}
    sources = [req.c_path, *req.options.sources]
    words = _compile_words(req)
    for n, src in enumerate(sources):
        comp = compilers["c++" if _is_cxx(src, req) else "c"]
        obj = os.path.join(workdir, f"{n}.o")
        depfile = os.path.join(workdir, f"{n}.d")
        cmd = [*comp.argv, *words, "-MD", "-MF", depfile, "-c", src, "-o", obj]
        result = _run(cmd, req, "compiling", generated=(src == req.c_path))
        if src == req.c_path:
            _report_glue_warnings(result.stderr, req)
        objects.append(obj)
        try:
            with open(depfile, encoding="utf-8", errors="surrogateescape") as f:
                listed = parse_depfile(f.read())
        except OSError:
            listed = [src]
        for d in listed:
            p = os.path.abspath(d)
            if p not in deps:
                deps[p] = _hash_file(p)
    return objects, deps


def _run(
    cmd: list[str], req: BuildRequest, what: str, generated: bool = False
) -> subprocess.CompletedProcess[str]:
    if req.verbose:
        print(shlex.join(cmd))
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    except OSError as e:
        raise VerificationError(f"cannot run the compiler {cmd[0]!r}: {e}") from None
    if req.verbose and (result.stdout or result.stderr):
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise _build_error(result, req, what, generated)
    return result


_DIAG = re.compile(
    r"^(?P<file>.*?):(?P<line>\d+):(?:(?P<col>\d+):)?\s*"
    r"(?P<sev>fatal error|error|warning):\s*(?P<msg>.*)$"
)


def _diagnostics(output: str, req: BuildRequest) -> list[tuple[int, str, str]]:
    """(line, severity, message) of the diagnostics in the generated file."""
    target = os.path.abspath(req.c_path)
    found = []
    for raw in output.splitlines():
        m = _DIAG.match(raw)
        if not m:
            continue
        f = m.group("file")
        if os.path.abspath(f) != target and f != req.c_path:
            continue
        found.append((int(m.group("line")), m.group("sev"), m.group("msg")))
    return found


def _clean_message(msg: str) -> str:
    """A compiler message about an rcffi check, without the compiler's
    quoting of static assertion texts."""
    m = re.match(r'static assertion failed: "(.*)"$', msg)
    if m:
        msg = m.group(1).replace("\\'", "'").replace('\\"', '"')
    return msg.replace("rcffi: ", "")


def _mismatches(output: str, req: BuildRequest) -> list[str]:
    """One line per declaration that the compiler's errors are about:
    what the checks found, joined, and the declaration's hint once."""
    gen = req.generated
    per_region: dict[tuple[str, str], tuple[Region, list[str]]] = {}
    for line, sev, msg in _diagnostics(output, req):
        if sev == "warning":
            continue
        region = gen.region_at(line)
        if region is None:
            continue
        text = _clean_message(msg)
        if text.startswith(region.what + ": "):
            text = text[len(region.what) + 2 :]
        _r, texts = per_region.setdefault((region.what, region.origin), (region, []))
        if text not in texts:
            texts.append(text)
    lines = []
    for (what, origin), (region, texts) in per_region.items():
        hint = f"; {region.hint}" if region.hint else ""
        lines.append(f"  {what} ({origin}): " + "; ".join(texts) + hint)
    return lines


def _build_error(
    result: subprocess.CompletedProcess[str], req: BuildRequest, what: str, generated: bool
) -> VerificationError:
    output = (result.stderr + result.stdout).strip()
    gen = req.generated
    mismatches = _mismatches(output, req) if generated and gen is not None else []
    c_path = os.path.abspath(req.c_path)
    if mismatches:
        message = (
            f"the cdef of module '{req.module_name}' does not match the C code:\n"
            + "\n".join(mismatches)
            + f"\n\ncompiler output:\n{output}\n(generated file: {c_path})"
        )
    else:
        where = ""
        if generated and gen is not None and _user_code_errors(output, gen):
            where = " (an error in the set_source() code)"
        message = (
            f"{what} module '{req.module_name}' failed{where}:\n{output}\n"
            f"(command: {shlex.join(result.args)})\n(generated file: {c_path})"
        )
    err = VerificationError(message)
    err.c_file = c_path
    err.compiler_output = output
    err.mismatches = mismatches
    return err


def _user_code_errors(output: str, gen: Generated) -> bool:
    """Whether the compiler reports errors in the set_source() code (which
    the generated file names with a #line directive)."""
    for raw in output.splitlines():
        m = _DIAG.match(raw)
        if m and m.group("sev") != "warning" and m.group("file") == gen.user_file:
            return True
    return False


def _report_glue_warnings(stderr: str, req: BuildRequest) -> None:
    """Turns the compiler's warnings about rcffi's checks into Python
    warnings naming the declaration (one per declaration)."""
    gen = req.generated
    per_region: dict[tuple[str, str], list[str]] = {}
    for line, sev, msg in _diagnostics(stderr, req):
        if sev != "warning":
            continue
        region = gen.region_at(line)
        if region is None:
            continue
        msgs = per_region.setdefault((region.what, region.origin), [])
        if msg not in msgs:
            msgs.append(msg)
    for (what, origin), msgs in per_region.items():
        warnings.warn(
            VerificationWarning(
                f"module '{req.module_name}': the C compiler warns about {what} ({origin}): "
                + "; ".join(msgs)
                + f" (generated file: {os.path.abspath(req.c_path)})"
            ),
            stacklevel=_user_stacklevel(),
        )


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the first caller outside the rcffi package."""
    here = os.path.dirname(os.path.abspath(__file__))
    level = 1
    frame = sys._getframe(1)
    while frame is not None:
        if os.path.dirname(os.path.abspath(frame.f_code.co_filename)) != here:
            return level
        frame = frame.f_back
        level += 1
    return 1


# -- files ---------------------------------------------------------------------------


def _cannot_write(path: str, module: str, e: OSError) -> VerificationError:
    return VerificationError(
        f"cannot write the build files of module '{module}' in {os.path.dirname(path) or '.'!r}:"
        f" {e.strerror or e}.  Pass a writable directory (compile(tmpdir=...), "
        f"verify(tmpdir=...) or the CFFI_TMPDIR environment variable)."
    )


def _makedirs(path: str, module: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise _cannot_write(os.path.join(path, "x"), module, e) from None


def _mkdtemp(parent: str, module: str) -> str:
    try:
        return tempfile.mkdtemp(prefix=".rcffi-build-", dir=parent)
    except OSError as e:
        raise _cannot_write(os.path.join(parent, "x"), module, e) from None


def _write_atomic(path: str, text: str, module: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file and a rename, so
    a reader never sees half a file (the mode follows the umask)."""
    d = os.path.dirname(os.path.abspath(path))
    _makedirs(d, module)
    tmp = os.path.join(d, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError as e:
        raise _cannot_write(path, module, e) from None


def write_if_changed(path: str, text: str, module: str) -> bool:
    """Writes ``text`` unless ``path`` already holds it; returns whether it
    wrote."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            if f.read() == text:
                return False
    except OSError:
        pass
    _write_atomic(path, text, module)
    return True


def _remove_older_outputs(output: str) -> None:
    """Removes the libraries of earlier builds of the same module (for the
    unique names of ``verify()``)."""
    stem = output.rsplit("-", 1)[0]
    d = os.path.dirname(output)
    prefix = os.path.basename(stem) + "-"
    ext = os.path.splitext(output)[1]
    try:
        names = os.listdir(d)
    except OSError:
        return
    for name in names:
        p = os.path.join(d, name)
        if name.startswith(prefix) and name.endswith(ext) and p != output:
            try:
                os.unlink(p)
            except OSError:
                pass
