{
  "targets": [
    {
      "target_name": "lb_native",
      "sources": ["<!@(node scripts/list-native-sources.mjs)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-fno-rtti", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++1y", "-O3"],
      "cflags_cc": ["-std=c++20", "-fno-exceptions", "-O2", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "ldflags": ["-pthread"]
    }
  ]
}
