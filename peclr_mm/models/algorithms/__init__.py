# Copyright (c) peclr_mm authors. All rights reserved.
