//! pcap tests
