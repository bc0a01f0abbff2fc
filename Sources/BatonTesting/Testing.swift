import BatonStore
