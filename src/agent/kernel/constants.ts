/**
 * The rtnetlink numbers of the Linux UAPI headers (linux/netlink.h, rtnetlink.h, if_link.h,
 * if_addr.h, neighbour.h) the agent's encoders, readers and sockets use: one home for all of them.
 */

// Address families.
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;

// Protocol and multicast groups (RTNLGRP_*) of the watcher.
export const NETLINK_ROUTE = 0;
export const RTNLGRP_LINK = 1;
export const RTNLGRP_NEIGH = 3;
export const RTNLGRP_IPV4_ROUTE = 7;
export const RTNLGRP_IPV6_ROUTE = 11;

// nlmsghdr: its size, message types and flags.
export const NLMSG_HDRLEN = 16;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
/** NLM_F_ROOT | NLM_F_MATCH: every object, in as many messages as it takes. */
export const NLM_F_DUMP = 0x300;
export const NLM_F_CREATE = 0x400;

// rtnetlink message types.
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

// Routes: rtmsg fields and RTA_* attributes.
export const RT_TABLE_MAIN = 254;
export const RTN_UNICAST = 1;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_NOWHERE = 255;
/** RTNH_F_ONLINK in rtm_flags: the gateway is on the link even without a covering route. */
export const RTNH_F_ONLINK = 4;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_MULTIPATH = 9;
export const RTA_TABLE = 15;

// Neighbours and FDB entries: ndmsg fields and NDA_* attributes.
export const NUD_PERMANENT = 0x80;
export const NTF_SELF = 0x02;
export const NDA_DST = 1;
export const NDA_LLADDR = 2;

// Links: ifinfomsg flags and IFLA_* attributes, with the nested link info and vxlan ones.
export const IFF_UP = 1;
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINKINFO = 18;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_LINK = 3;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_PORT = 15;
export const IFLA_VXLAN_LOCAL6 = 17;

// Addresses: IFA_* attributes.
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
