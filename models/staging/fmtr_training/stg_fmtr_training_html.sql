{{ stg_fmtr_training('fmtr_training_html', page_number='cast(null as varchar)') }}
