{{ stg_fmtr_training('fmtr_training_xml') }}
