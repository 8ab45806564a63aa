//! What crosses between a session and its caller: its outputs (actions,
//! replies), events, the configuration, and the values they carry (rights,
//! paths, globs, networks, notices for the admin).

pub(crate) mod access;
pub(crate) mod action;
pub(crate) mod activity;
pub(crate) mod config;
pub(crate) mod event;
pub(crate) mod glob;
pub(crate) mod network;
pub(crate) mod notice;
pub(crate) mod output;
pub(crate) mod path;
