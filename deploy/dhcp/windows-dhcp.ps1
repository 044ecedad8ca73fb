# Windows Server DHCP: option 6 (DNS Servers) with two dnsward replicas, for the whole server
# or per scope (PowerShell, DhcpServer module). The server checks that each address answers
# DNS unless -Force is given.
Set-DhcpServerv4OptionValue -DnsServer 10.0.0.53, 10.0.0.54
# Per scope instead (the service and the personal network):
Set-DhcpServerv4OptionValue -ScopeId 10.10.0.0 -DnsServer 10.0.0.53, 10.0.0.54
Set-DhcpServerv4OptionValue -ScopeId 10.20.0.0 -DnsServer 10.0.0.53, 10.0.0.54
# The same with netsh, on older servers:
#   netsh dhcp server scope 10.10.0.0 set optionvalue 6 IPADDRESS 10.0.0.53 10.0.0.54
# Check what clients get:
Get-DhcpServerv4OptionValue -ScopeId 10.10.0.0 -OptionId 6
