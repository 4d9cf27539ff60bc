"""AR overlay model, GeoPose anchors and glTF asset building (grows with the AR issue)."""
