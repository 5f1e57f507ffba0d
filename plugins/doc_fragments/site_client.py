# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The options of the modules that send HTTP requests to the site, whose argument spec is
    # module_utils/web_client.py's client_argument_spec(). The default of timeout differs between
    # the modules: each module documents it (timeout: default: N).
    DOCUMENTATION = r"""
options:
  connect_to:
    description:
      - Connect to this address (an IP address or a host name) instead of the address the host
        name of the site's URL resolves to, like C(curl --resolve). The Host header, SNI and
        the certificate check still use that host name.
      - Not set, the host name is resolved with DNS as usual.
    type: str
  validate_certs:
    description:
      - Whether to check the TLS certificates of the servers the module connects to.
      - Set V(false) only for a server with a self-signed certificate, in tests.
    type: bool
    default: true
  timeout:
    description:
      - Timeout of each HTTP request, in seconds.
    type: int
"""
