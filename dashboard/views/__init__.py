"""The dashboard's views: functions of the state and the store."""
