"""a12: capsule networks: squash, PrimaryCaps, dynamic routing by agreement, margin and reconstruction losses, EM routing.

The section of the course notes it follows: Capsule networks: dynamic routing and EM routing.
课程讲义中对应的章节：胶囊网络：动态路由与 EM 路由。
"""
