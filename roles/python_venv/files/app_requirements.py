# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the requirements pip installs for the app into its virtualenv (python_venv, on the
managed host; stdlib only, Python 3.11+ for tomllib).

    app_requirements.py SOURCE DEST OWNER GROUP

SOURCE is a pip requirements file, copied as it is, or a pyproject.toml, whose
[project].dependencies are written one per line (the project itself is not installed: the app
runs from its release). DEST is written only when its content changes, owned by OWNER:GROUP,
mode 0644. Prints JSON:
{"changed": bool, "gunicorn": [the lines that name Gunicorn]}.
"""

import grp
import json
import os
import pwd
import re
import sys

GUNICORN = re.compile(r"^\s*gunicorn(?![-_.a-z0-9])", re.IGNORECASE)


def requirements(source):
    with open(source, "rb") as handle:
        data = handle.read()
    if os.path.basename(source) != "pyproject.toml":
        return data.decode("utf-8")
    import tomllib  # Python 3.11+: needed for a pyproject.toml only

    project = tomllib.loads(data.decode("utf-8")).get("project")
    if project is None:
        raise SystemExit(f"{source} has no [project] table: pip cannot read its dependencies")
    if "dependencies" in project.get("dynamic", []):
        raise SystemExit(f"{source} declares its dependencies dynamic: list them in [project]")
    return "".join(f"{line}\n" for line in project.get("dependencies", []))


def main(argv):
    source, dest, owner, group = argv
    text = requirements(source)
    try:
        with open(dest, encoding="utf-8") as handle:
            changed = handle.read() != text
    except FileNotFoundError:
        changed = True
    if changed:
        with open(dest, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chown(dest, pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid)
        os.chmod(dest, 0o644)
    gunicorn = [line.strip() for line in text.splitlines() if GUNICORN.match(line)]
    print(json.dumps({"changed": changed, "gunicorn": gunicorn}))


if __name__ == "__main__":
    main(sys.argv[1:])
